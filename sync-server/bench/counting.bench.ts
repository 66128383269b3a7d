import type { Bench } from '../../scripts/bench-kit.js';
import { BENCH_ADMIN_PASSWORD, embeddedAndNats } from '../../scripts/bench-server.js';
import { applyAndWait, prepareCountSession } from '../../scripts/count-session.js';

/**
 * Applying an approved counting session of 1,000 lines (`counting.apply1000_s`, target < 3 s):
 * from the start of the apply job to the session reported applied — each line decided against
 * stock as it is, with its `StockAdjusted`, pushed by the job in batches. Embedded (the server
 * runs the job) and scale-out (a worker process takes it from NATS), in the same run. Setting
 * the session up (master data, 1,000 counts, approval) is not timed.
 */

export const benches: Bench[] = [
  {
    name: 'counting.apply1000_s',
    run: () =>
      embeddedAndNats(
        'counting.apply1000_s',
        async (base) => applyAndWait(await prepareCountSession(base, BENCH_ADMIN_PASSWORD, 1000)),
        {
          embedded: 's (embedded: apply started to session applied)',
          nats: 's (a worker process taking the job from NATS: apply started to session applied)',
        },
      ),
  },
];
