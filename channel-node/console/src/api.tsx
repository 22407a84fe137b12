// Reads the node's console data (/console/api/*) and keeps it fresh by polling. With
// console.requireToken the node answers 401 until the page sends the console token, which the
// operator pastes once; it is kept in this tab's sessionStorage only.
import { useEffect, useState } from "preact/hooks";

const TOKEN_KEY = "clearline-console-token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const consoleToken = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token.trim()),
};

export async function getData<T>(name: string): Promise<T> {
  const token = consoleToken.get();
  const response = await fetch(`api/${name}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const body = (await response.json().catch(() => ({}))) as { code?: string; error?: string };
  if (!response.ok) throw new ApiError(response.status, body.code ?? `HTTP_${response.status}`, body.error ?? response.statusText);
  return body as T;
}

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: ApiError | undefined;
  /** Host time of the last successful read, ms. */
  readonly at: number | undefined;
}

/** `name`'s data, read now and every `everyMs` while the component is shown. */
export function usePolled<T>(name: string, everyMs: number): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined, at: undefined });
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        const data = await getData<T>(name);
        if (!stopped) setState({ data, error: undefined, at: Date.now() });
      } catch (error) {
        const failure = error instanceof ApiError ? error : new ApiError(0, "NODE_UNREACHABLE", "the node does not answer");
        if (!stopped) setState((before) => ({ ...before, error: failure }));
      }
      if (!stopped) timer = window.setTimeout(tick, everyMs);
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [name, everyMs]);
  return state;
}
