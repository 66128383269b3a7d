/**
 * A counting session of `lines` lines, set up on a running server over HTTP and approved, so
 * that only its apply is left: 10 items × `lines / 10` bins, each pair counted once with a
 * difference from what was expected. Shared by the worker-crash test and the bench
 * (`counting.apply1000_s`). Signs in as admin (who may do what operators and supervisors do).
 */
export interface PreparedSession {
  readonly token: string;
  readonly sessionId: string;
  /**
   * What each pair (`<positionId> <itemId>`) was counted as: its stock once the line is applied.
   * Pairs start at 10 and are counted 8…12, so a line applied twice, or not at all, shows here
   * (the total over all pairs does not: the differences add up to zero).
   */
  readonly counted: ReadonlyMap<string, number>;
  call<T>(method: string, path: string, body?: object): Promise<T>;
}

export async function prepareCountSession(
  base: string,
  adminPassword: string,
  lines: number,
  sessionId = '0192f0c8-0000-7000-8000-00000000c0de',
): Promise<PreparedSession> {
  let token = '';
  const call = async <T>(method: string, p: string, body?: object): Promise<T> => {
    const res = await fetch(base + p, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': 'application/json',
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const group = `count-setup-${sessionId}`;
  ({ token } = await call<{ token: string }>('POST', '/api/auth/login', {
    username: 'admin',
    password: adminPassword,
    clientGroupID: group,
  }));
  let next = 1;
  const push = async (mutations: { name: string; args: object }[]) => {
    for (let i = 0; i < mutations.length; i += 200) {
      const batch = mutations.slice(i, i + 200);
      const res = await call<{ results: { status: string; error?: unknown }[] }>(
        'POST',
        '/sync/push',
        {
          pushVersion: 1,
          clientGroupID: group,
          schemaVersion: '1',
          mutations: batch.map((m) => ({
            clientID: `${group}-c`,
            id: next++,
            timestamp: Date.now(),
            ...m,
          })),
        },
      );
      const bad = res.results.find((r) => r.status !== 'applied');
      if (bad) throw new Error(`setup: ${JSON.stringify(bad)}`);
    }
  };
  const bins = Math.ceil(lines / 10);
  const items = Array.from({ length: 10 }, (_, i) => `CI${i}`);
  const positions = Array.from({ length: bins }, (_, i) => `CB${i}`);
  await push([
    ...items.map((id) => ({
      name: 'defineItem',
      args: { itemId: id, sku: id, name: id, tracking: 'none' },
    })),
    ...positions.map((id) => ({
      name: 'definePosition',
      args: { positionId: id, code: id, kind: 'bin' },
    })),
    ...positions.flatMap((p) =>
      items.map((itemId) => ({
        name: 'receiveStock',
        args: { itemId, positionId: p, quantity: 10 },
      })),
    ),
  ]);
  await push([
    {
      name: 'planCountSession',
      args: {
        sessionId,
        code: `BENCH-${sessionId.slice(-4)}`,
        positionIds: positions,
        mode: 'blind',
      },
    },
    { name: 'startCountSession', args: { sessionId } },
  ]);
  const counts: { name: string; args: object }[] = [];
  const countedOf = new Map<string, number>();
  for (let n = 0; n < lines; n++) {
    const positionId = positions[Math.floor(n / 10)]!;
    const itemId = items[n % 10]!;
    const counted = 8 + (n % 5); // 8 … 12: some short, some over, some exact
    countedOf.set(`${positionId} ${itemId}`, counted);
    counts.push({
      name: 'recordCount',
      args: { sessionId, positionId, itemId, counted, expected: 10 },
    });
  }
  await push(counts);
  await push([
    { name: 'closeCountSession', args: { sessionId } },
    { name: 'approveCountSession', args: { sessionId, reason: 'unexplained' } },
  ]);
  return { token, sessionId, counted: countedOf, call };
}

/** Starts the apply job and waits until the session is applied; seconds from start to end. */
export async function applyAndWait(s: PreparedSession, timeoutMs = 120_000): Promise<number> {
  const t0 = performance.now();
  await s.call('POST', `/api/count-sessions/${s.sessionId}/apply`, {});
  for (;;) {
    const now = await s.call<{ session: { status: string; applied: number; planned: number } }>(
      'GET',
      `/api/count-sessions/${s.sessionId}`,
    );
    if (now.session.status === 'applied') break;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`stuck at ${now.session.applied}/${now.session.planned}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return (performance.now() - t0) / 1000;
}
