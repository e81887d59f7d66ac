export default async function globalTeardown(): Promise<void> {
  await globalThis.__KIF_STACK__?.stop();
  globalThis.__KIF_STACK__ = undefined;
}
