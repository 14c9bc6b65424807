// undici's Pool and its request(), loaded from their own modules (see http-get.ts): undici's main module
// also loads fetch, WebSocket, caches and mocks, which cloudport does not use. The package is pinned
// exactly (package.json), so these paths are the ones its release ships.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const PoolClass: typeof Pool;
  export default PoolClass;
}
declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';
  const request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  export default request;
}
