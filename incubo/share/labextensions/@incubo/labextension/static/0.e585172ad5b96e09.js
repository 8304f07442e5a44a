"use strict";(self.rspackChunk_incubo_labextension=self.rspackChunk_incubo_labextension||[]).push([[0],{13(e,n,o){var r=o(14),t=o.n(r),a=o(15),i=(o.n(a))()(t());i.push([e.id,`/* incubo in the learner's JupyterLab: the s\xe9ance panel and \xab Mes modules \xbb. */

#incubo-seance-panel { overflow: auto; background: var(--jp-layout-color1, #fff); color: var(--jp-ui-font-color0, #161616); font-family: var(--jp-ui-font-family, Arial, sans-serif); font-size: var(--jp-ui-font-size1, 13px); line-height: 1.45; }
.incubo-seance { padding: 0 0 1rem 0; }
.incubo-seance h2, .incubo-seance h3 { font-size: 1.05em; margin: .8rem .8rem .3rem; }
.incubo-seance-bandeau { margin: 0; padding: .6rem .8rem; background: #000091; color: #fff; font-size: 1.1em; }
.incubo-seance-bandeau strong { color: #fff; }
.incubo-seance-annonce:empty { display: none; }
.incubo-seance-annonce { margin: .6rem .8rem; padding: .4rem .6rem; border-left: .3rem solid #000091; background: var(--jp-layout-color2, #eee); }
.incubo-seance form { margin: .4rem .8rem; }
.incubo-seance fieldset { border: 1px solid var(--jp-border-color1, #767676); padding: .4rem .6rem; margin: 0 0 .6rem; }
.incubo-seance legend { font-weight: bold; padding: 0 .2rem; }
.incubo-seance-choix { display: block; margin: .25rem 0; }
.incubo-seance input[type=text] { font: inherit; padding: .25rem .4rem; border: 1px solid #666; width: 90%; color: inherit; background: var(--jp-layout-color0, #fff); }
.incubo-seance button { font: inherit; padding: .35rem .9rem; background: #000091; color: #fff; border: 2px solid #000091; border-radius: 2px; cursor: pointer; }
.incubo-seance button:disabled { background: #e5e5e5; color: #3a3a3a; border-color: #929292; cursor: default; }
.incubo-seance a { color: var(--jp-content-link-color, #0b57a4); text-decoration: underline; }
.incubo-seance :focus-visible { outline: 3px solid #0a76f6; outline-offset: 2px; }
.incubo-seance-etat { margin: .4rem 0; font-weight: bold; }
.incubo-seance-etat.erreur { color: #b3000c; }
.incubo-seance-solution { margin: .4rem 0; padding: .3rem .5rem; border-left: .3rem solid #18753c; }
.incubo-seance ul { margin: .2rem .8rem; padding-left: 1.2rem; }

.incubo-modules { overflow: auto; background: var(--jp-layout-color1, #fff); color: var(--jp-ui-font-color0, #161616); font-family: var(--jp-ui-font-family, Arial, sans-serif); font-size: var(--jp-ui-font-size1, 13px); line-height: 1.45; }
.incubo-modules h2 { margin: 0; padding: .6rem .8rem; background: #000091; color: #fff; font-size: 1.1em; }
.incubo-modules h3 { font-size: 1.05em; margin: .2rem 0; }
.incubo-modules p { margin: .25rem 0; }
.incubo-modules-liste { list-style: none; margin: .4rem .6rem; padding: 0; }
.incubo-module { border: 1px solid var(--jp-border-color1, #929292); padding: .3rem .6rem; margin: .5rem 0; }
.incubo-modules-annonce:empty { display: none; }
.incubo-modules-annonce { margin: .6rem .8rem; padding: .4rem .6rem; border-left: .3rem solid #000091; background: var(--jp-layout-color2, #eee); }
.incubo-etat { font-weight: bold; padding: 0 .3rem; border: 1px solid #3a3a3a; color: #161616; background: #fff; }
.incubo-etat.etat-1 { background: #fff4d6; } .incubo-etat.etat-2 { background: #e3f0ff; }
.incubo-etat.etat-3 { background: #dffee6; } .incubo-etat.etat-4 { background: #ffe9e6; }
.incubo-modules-message { font-weight: bold; color: #b3000c; }
.incubo-modules-actions { display: flex; gap: .8rem; align-items: center; flex-wrap: wrap; margin: .3rem 0; }
.incubo-modules button { font: inherit; padding: .35rem .9rem; background: #000091; color: #fff; border: 2px solid #000091; border-radius: 2px; cursor: pointer; }
.incubo-modules a { color: var(--jp-content-link-color, #0b57a4); text-decoration: underline; }
.incubo-modules :focus-visible { outline: 3px solid #0a76f6; outline-offset: 2px; }
`,""]),o.d(n,{},{A:i})},15(e){e.exports=function(e){var n=[];return n.toString=function(){return this.map(function(n){var o="",r=void 0!==n[5];return n[4]&&(o+="@supports (".concat(n[4],") {")),n[2]&&(o+="@media ".concat(n[2]," {")),r&&(o+="@layer".concat(n[5].length>0?" ".concat(n[5]):""," {")),o+=e(n),r&&(o+="}"),n[2]&&(o+="}"),n[4]&&(o+="}"),o}).join("")},n.i=function(e,o,r,t,a){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(r)for(var c=0;c<this.length;c++){var u=this[c][0];null!=u&&(i[u]=!0)}for(var s=0;s<e.length;s++){var l=[].concat(e[s]);r&&i[l[0]]||(void 0!==a&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=a),o&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=o),t&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=t):l[4]="".concat(t)),n.push(l))}},n}},14(e){e.exports=function(e){return e[1]}},6(e,n,o){o.r(n);var r=o(7),t=o.n(r),a=o(8),i=o.n(a),c=o(9),u=o.n(c),s=o(10),l=o.n(s),d=o(11),f=o.n(d),m=o(12),p=o.n(m),b=o(13),g={};g.styleTagTransform=p(),g.setAttributes=l(),g.insert=u().bind(null,"head"),g.domAPI=i(),g.insertStyleElement=f(),t()(b.A,g);let v=b.A&&b.A.locals?b.A.locals:void 0;o.d(n,{},{default:v})},7(e){var n=[];function o(e){for(var o=-1,r=0;r<n.length;r++)if(n[r].identifier===e){o=r;break}return o}function r(e,r){for(var t={},a=[],i=0;i<e.length;i++){var c=e[i],u=r.base?c[0]+r.base:c[0],s=t[u]||0,l="".concat(u," ").concat(s);t[u]=s+1;var d=o(l),f={css:c[1],media:c[2],sourceMap:c[3],supports:c[4],layer:c[5]};if(-1!==d)n[d].references++,n[d].updater(f);else{var m=function(e,n){var o=n.domAPI(n);return o.update(e),function(n){n?(n.css!==e.css||n.media!==e.media||n.sourceMap!==e.sourceMap||n.supports!==e.supports||n.layer!==e.layer)&&o.update(e=n):o.remove()}}(f,r);r.byIndex=i,n.splice(i,0,{identifier:l,updater:m,references:1})}a.push(l)}return a}e.exports=function(e,t){var a=r(e=e||[],t=t||{});return function(e){e=e||[];for(var i=0;i<a.length;i++){var c=o(a[i]);n[c].references--}for(var u=r(e,t),s=0;s<a.length;s++){var l=o(a[s]);0===n[l].references&&(n[l].updater(),n.splice(l,1))}a=u}}},9(e){var n={};e.exports=function(e,o){var r=function(e){if(void 0===n[e]){var o=document.querySelector(e);if(window.HTMLIFrameElement&&o instanceof window.HTMLIFrameElement)try{o=o.contentDocument.head}catch(e){o=null}n[e]=o}return n[e]}(e);if(!r)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");r.appendChild(o)}},11(e){e.exports=function(e){var n=document.createElement("style");return e.setAttributes(n,e.attributes),e.insert(n,e.options),n}},10(e,n,o){e.exports=function(e){var n=o.nc;n&&e.setAttribute("nonce",n)}},8(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var n=e.insertStyleElement(e);return{update:function(o){var r,t,a;r="",o.supports&&(r+="@supports (".concat(o.supports,") {")),o.media&&(r+="@media ".concat(o.media," {")),(t=void 0!==o.layer)&&(r+="@layer".concat(o.layer.length>0?" ".concat(o.layer):""," {")),r+=o.css,t&&(r+="}"),o.media&&(r+="}"),o.supports&&(r+="}"),(a=o.sourceMap)&&"u">typeof btoa&&(r+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(a))))," */")),e.styleTagTransform(r,n,e.options)},remove:function(){var e;null===(e=n).parentNode||e.parentNode.removeChild(e)}}}},12(e){e.exports=function(e,n){if(n.styleSheet)n.styleSheet.cssText=e;else{for(;n.firstChild;)n.removeChild(n.firstChild);n.appendChild(document.createTextNode(e))}}}}]);