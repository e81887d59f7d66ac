export default async function globalTeardown(): Promise<void> {
  await globalThis.__KIF_STACK__?.stop();
  await globalThis.__KIF_HTTPS_AZURITE__?.stop();
  globalThis.__KIF_STACK__ = undefined;
  globalThis.__KIF_HTTPS_AZURITE__ = undefined;
}
