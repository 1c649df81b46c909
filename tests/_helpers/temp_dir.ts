/** A scratch folder for one test, removed afterwards whatever the test did. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = "gasp-test-"): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
