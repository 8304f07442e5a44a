// Module and chunk ids by order of use, not hashed from paths: the webpack "container entry"
// module's identifier holds absolute paths, so hashed ids would change with the checkout's folder
// and the committed build would differ from a rebuild elsewhere.
module.exports = {
  optimization: {
    moduleIds: 'natural',
    chunkIds: 'natural'
  }
};
