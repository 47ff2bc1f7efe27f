// Vite builds the labeling UI into web/label/dist/, which `ulearn label` serves (src/label/server.ts).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // `npx vite web/label` (hot reload) forwards the API and media to a running `ulearn label` on the default port.
  server: { proxy: { '/api': 'http://127.0.0.1:8765', '/media': 'http://127.0.0.1:8765' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  logLevel: 'warn',
});
