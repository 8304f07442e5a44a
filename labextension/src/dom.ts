/**
 * Small DOM helpers shared by the panels (no framework: plain elements, French text).
 */

export type Child = Node | string | null | undefined;

/** An element with attributes (`text` sets its text, `className` its class) and children. */
export function el(
  tag: string,
  attrs: Record<string, string> = {},
  children: Child[] = []
): HTMLElement {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') {
      node.textContent = value;
    } else if (key === 'className') {
      node.className = value;
    } else {
      node.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.appendChild(
        typeof child === 'string' ? document.createTextNode(child) : child
      );
    }
  }
  return node;
}

function cookie(name: string): string {
  const found = document.cookie.match('(^|;)\\s*' + name + '\\s*=\\s*([^;]+)');
  return found ? decodeURIComponent(found[2]) : '';
}

/** Requests to the learner's own server (its base URL, its token or its _xsrf cookie). */
export class Server {
  readonly base: string;
  private readonly token: string;

  constructor(baseUrl: string, token: string) {
    this.base = baseUrl.replace(/\/?$/, '/');
    this.token = token;
  }

  request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = {
      ...((init.headers as Record<string, string>) || {})
    };
    const xsrf = cookie('_xsrf');
    if (xsrf) {
      headers['X-XSRFToken'] = xsrf;
    }
    if (this.token) {
      headers['Authorization'] = 'token ' + this.token;
    }
    return window.fetch(this.base + path, {
      ...init,
      credentials: 'same-origin',
      cache: 'no-store',
      headers
    });
  }

  /** The JSON body of a request, `{}` when it is not JSON. */
  async json(path: string, init: RequestInit = {}): Promise<[Response, any]> {
    const response = await this.request(path, init);
    const body = await response.json().catch(() => ({}));
    return [response, body];
  }
}

/** The URL of a notebook in the lab (each path segment encoded). */
export function treeUrl(base: string, path: string): string {
  return base + 'lab/tree/' + path.split('/').map(encodeURIComponent).join('/');
}
