import { METHOD_NAME_ALL } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';
import type { RouterRoute } from 'hono/types';

/**
 * The methods an app answers on a path, read from its route table when first asked (so that every
 * route is in): a request with another method on a known path is answered 405 with them in `Allow`,
 * not 404. HEAD goes with GET, which Hono answers it with.
 */
export class AllowedMethods {
  #tables: { literal: Map<string, string[]>; router: TrieRouter<string> } | undefined;

  constructor(private readonly routes: readonly RouterRoute[]) {}

  /**
   * The methods of a path that routes name literally, such as `/chats/create`; undefined for any other
   * path. Such a path is that resource only, even where a pattern (`/chats/:id`) would match it too.
   */
  ofLiteralPath(path: string): string[] | undefined {
    return this.#read().literal.get(path);
  }

  /** The methods of every route whose path matches `path`; empty for a path no route knows. */
  of(path: string): string[] {
    return (
      this.ofLiteralPath(path) ??
      withHead(
        this.#read()
          .router.match(METHOD_NAME_ALL, path)[0]
          .map(([method]) => method),
      )
    );
  }

  #read() {
    if (this.#tables) return this.#tables;
    const methods = this.routes.filter(({ method }) => method !== METHOD_NAME_ALL); // `use`: middleware, no resource
    const literal = new Map<string, string[]>();
    const router = new TrieRouter<string>();
    for (const { method, path } of methods) {
      router.add(METHOD_NAME_ALL, path, method);
      if (!/[:*{]/.test(path)) literal.set(path, [...(literal.get(path) ?? []), method]);
    }
    for (const [path, list] of literal) literal.set(path, withHead(list));
    this.#tables = { literal, router };
    return this.#tables;
  }
}

function withHead(methods: string[]): string[] {
  const unique = new Set(methods);
  if (unique.has('GET')) unique.add('HEAD');
  return [...unique].sort();
}
