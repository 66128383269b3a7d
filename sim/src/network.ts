import type { Prng } from './prng.js';
import type { ServerBase } from './server.js';

/**
 * The network between the devices and the server, with faults. Every request goes through
 * `transport(device)`; the server's answer is observed here (`Wire`) before the network
 * decides what the device gets — so a mutation applied by a request whose answer was lost,
 * delayed or delivered twice is still seen, and the checks can hold every mutation to
 * exactly one `applied`/`rejected` outcome.
 */

/** Fault probabilities per request (the sim scales them per seed). */
export interface FaultRates {
  /** Lost on the way: the server never sees it. */
  readonly dropRequest: number;
  /** The server handles it (and commits); the answer is lost. */
  readonly dropResponse: number;
  /** Delivered twice one after the other; the device sees one of the two answers. */
  readonly duplicate: number;
  /** Two copies race into the server at once (group commit); the device sees one answer. */
  readonly duplicateConcurrent: number;
  /** Held in the network: the device times out; the server gets it at a later step. */
  readonly delay: number;
  /** A pull is answered with an earlier answer to this device (a replaying proxy). */
  readonly staleReplay: number;
  /** The server process dies after committing a push, before answering. */
  readonly crashAfterCommit: number;
  /** While this request is in flight, something else happens first (another device syncs, a scan). */
  readonly interleave: number;
  /**
   * Process mode only: the server process is SIGKILLed while a push is in flight, a few ms
   * after it was sent — before, during or after its commit; the answer may never come.
   */
  readonly killInFlight: number;
}

export const NO_FAULTS: FaultRates = {
  dropRequest: 0,
  dropResponse: 0,
  duplicate: 0,
  duplicateConcurrent: 0,
  delay: 0,
  staleReplay: 0,
  crashAfterCommit: 0,
  interleave: 0,
  killInFlight: 0,
};

export const BASE_FAULTS: FaultRates = {
  dropRequest: 0.03,
  dropResponse: 0.05,
  duplicate: 0.03,
  duplicateConcurrent: 0.015,
  delay: 0.025,
  staleReplay: 0.03,
  crashAfterCommit: 0.006,
  interleave: 0.04,
  killInFlight: 0.006,
};

export const scaleFaults = (r: FaultRates, k: number): FaultRates =>
  Object.fromEntries(Object.entries(r).map(([f, p]) => [f, Math.min(0.5, p * k)])) as never;

/** One mutation's outcome as the server answered it (to whoever received the answer). */
export interface WireOutcome {
  readonly status: string;
  readonly seqs: readonly number[];
  readonly conflicts: readonly string[];
}

export interface PushedMutation {
  readonly clientID: string;
  readonly id: number;
  readonly name: string;
  readonly args: unknown;
}

/** Everything the server answered, whoever got (or lost) the answer. */
export class Wire {
  /** `clientID/id` → every outcome the server reported for it. */
  readonly outcomes = new Map<string, WireOutcome[]>();
  /** `clientID/id` → the mutation as first seen on the wire (a later copy must be the same). */
  readonly sent = new Map<string, PushedMutation>();
  /** Problems seen on the wire (an id carrying two different scans). */
  readonly problems: string[] = [];
  /**
   * `clientID/id` of mutations whose push was in flight when the server process was killed
   * and got no answer (process mode): whether that push committed is known only from the log.
   */
  readonly unobserved = new Set<string>();
  requests = 0;

  noteUnobserved(body: unknown): void {
    const mutations = (body as { mutations?: PushedMutation[] } | null)?.mutations ?? [];
    for (const m of mutations) this.unobserved.add(`${m.clientID}/${m.id}`);
  }

  notePushRequest(body: unknown): void {
    const mutations = (body as { mutations?: PushedMutation[] } | null)?.mutations ?? [];
    for (const m of mutations) {
      const key = `${m.clientID}/${m.id}`;
      const seen = this.sent.get(key);
      const copy = { clientID: m.clientID, id: m.id, name: m.name, args: m.args };
      if (!seen) this.sent.set(key, copy);
      else if (JSON.stringify(seen) !== JSON.stringify(copy))
        this.problems.push(
          `mutation ${key} was pushed as two different scans: ${JSON.stringify(seen)} and ${JSON.stringify(copy)}`,
        );
    }
  }

  notePushResponse(json: unknown): void {
    const results =
      (
        json as {
          results?: {
            clientID: string;
            id: number;
            status: string;
            seqs?: number[];
            conflicts?: string[];
          }[];
        } | null
      )?.results ?? [];
    for (const r of results) {
      const key = `${r.clientID}/${r.id}`;
      const list = this.outcomes.get(key) ?? [];
      list.push({ status: r.status, seqs: r.seqs ?? [], conflicts: r.conflicts ?? [] });
      this.outcomes.set(key, list);
    }
  }
}

interface HeldRequest {
  readonly device: string;
  readonly path: string;
  readonly init: RequestInit;
}

export interface NetworkHooks {
  /** Something else happens while a request is in flight (at most one level deep). */
  readonly interleave: (device: string) => Promise<void>;
  readonly trace: (line: string) => void;
  /**
   * A device's paged reset was sent back to start over (`ClientStateNotFound` to a paging
   * cookie): a restore came between its pages. Seen, not caused: nothing here draws the PRNG.
   */
  readonly pagedResetRestarted?: (device: string) => void;
}

/** A device's link: down when the device is offline. */
export interface Link {
  online: boolean;
}

export class Network {
  readonly wire = new Wire();
  /** Requests held in the network, delivered at a later step (or at quiescence). */
  readonly held: HeldRequest[] = [];
  /** Earlier answers to each device's pulls, for stale replays. */
  private readonly pullAnswers = new Map<string, { cookie: number; text: string }[]>();
  rates: FaultRates;
  private depth = 0;
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly server: ServerBase,
    private readonly prng: Prng,
    rates: FaultRates,
    private readonly hooks: NetworkHooks,
    private readonly hostileProxy = false,
  ) {
    this.rates = rates;
  }

  private count(what: string, device: string, path: string): void {
    this.counts[what] = (this.counts[what] ?? 0) + 1;
    this.hooks.trace(`  net: ${what} (${device} ${path})`);
  }

  /** Delivers to the server and observes the answer. */
  private async send(path: string, init: RequestInit): Promise<Response> {
    this.wire.requests++;
    const body: unknown = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    if (path === '/sync/push') this.wire.notePushRequest(body);
    const res = await this.server.deliver(path, init);
    if (path === '/sync/push' && res.status === 200)
      this.wire.notePushResponse(await res.clone().json());
    return res;
  }

  private recordPull(device: string, text: string): void {
    const json = JSON.parse(text) as { patch?: { op: string; key?: string }[]; cookie?: unknown };
    if (typeof json.cookie !== 'number') return;
    const eventsOnly = json.patch?.every((p) => p.op === 'put' && p.key?.startsWith('e/'));
    if (!eventsOnly && !this.hostileProxy) return;
    const list = this.pullAnswers.get(device) ?? [];
    list.push({ cookie: json.cookie, text });
    if (list.length > 6) list.shift();
    this.pullAnswers.set(device, list);
  }

  /**
   * Earlier answers that may be replayed in reply to this pull. A replaying proxy as the
   * engine's own tests model it replays an older events page to a device following events:
   * an answer whose cookie is at or behind the one asked from. A hostile one (`hostileProxy`)
   * replays any answer to any pull of the device: a reset's last page in reply to a reset
   * request, or another tab's newer page in reply to an older cookie.
   */
  /** The seq holes of the server's log (set by the simulator when it restores a backup). */
  seqHoles: readonly (readonly [number, number])[] = [];

  private replayable(device: string, req: RequestInit): readonly string[] {
    const answers = this.pullAnswers.get(device) ?? [];
    if (this.hostileProxy) return answers.map((a) => a.text);
    const body = typeof req.body === 'string' ? (JSON.parse(req.body) as { cookie?: unknown }) : {};
    const asked = body.cookie;
    if (typeof asked !== 'number') return [];
    // A cookie of a history a restore lost: "an earlier answer with a cookie at or before it"
    // would compare seqs of two histories (a page of the new one on top of the lost one) —
    // the hostile proxy's replay, not a late answer to this request.
    if (inHole(this.seqHoles, asked)) return [];
    return answers.filter((a) => a.cookie <= asked).map((a) => a.text);
  }

  transport(device: string, link: Link): typeof fetch {
    return async (input, init) => {
      const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
      const path = url.replace(/^https?:\/\/[^/]+/, '');
      const req: RequestInit = init ?? {};
      if (!link.online) throw new TypeError('fetch failed (offline)');
      const r = this.rates;
      const p = this.prng;
      if (this.depth === 0 && p.chance(r.interleave)) {
        this.count('interleave', device, path);
        this.depth++;
        try {
          await this.hooks.interleave(device);
        } finally {
          this.depth--;
        }
        if (!link.online) throw new TypeError('fetch failed (offline)');
      }
      if (p.chance(r.dropRequest)) {
        this.count('dropRequest', device, path);
        throw new TypeError('fetch failed (request lost)');
      }
      if (p.chance(r.delay)) {
        this.count('delay', device, path);
        this.held.push({ device, path, init: req });
        throw new TypeError('fetch failed (timed out; the request is still in the network)');
      }
      if (path === '/sync/pull' && p.chance(r.staleReplay)) {
        const old = this.replayable(device, req);
        if (old.length > 0) {
          this.count('staleReplay', device, path);
          return new Response(p.pick(old), {
            status: 200,
            headers: { 'content-type': 'application/json' },
          });
        }
      }
      if (path === '/sync/push' && p.chance(r.crashAfterCommit) && this.server.running) {
        this.count('crashAfterCommit', device, path);
        await this.send(path, req);
        await this.server.stop();
        this.hooks.trace(`  server crashed after committing a push of ${device}`);
        throw new TypeError('fetch failed (socket hang up)');
      }
      // Only in process mode (the PRNG is not drawn otherwise: in-process seeds stay as they were).
      if (
        path === '/sync/push' &&
        this.server.mode === 'process' &&
        this.server.running &&
        p.chance(r.killInFlight)
      ) {
        this.count('killInFlight', device, path);
        const afterMs = p.int(0, 8);
        const answered = this.send(path, req).then(
          () => true,
          () => false,
        );
        await new Promise((resolve) => setTimeout(resolve, afterMs));
        await this.server.stop('kill');
        if (!(await answered)) this.wire.noteUnobserved(JSON.parse(req.body as string));
        this.hooks.trace(
          `  server killed ${afterMs} ms into a push of ${device} (${(await answered) ? 'it had answered' : 'no answer'})`,
        );
        throw new TypeError('fetch failed (socket hang up)');
      }
      let res: Response;
      if (p.chance(r.duplicateConcurrent)) {
        this.count('duplicateConcurrent', device, path);
        const copies = await Promise.all([this.send(path, req), this.send(path, req)]);
        res = copies[p.int(0, 1)] as Response;
      } else if (p.chance(r.duplicate)) {
        this.count('duplicate', device, path);
        const first = await this.send(path, req);
        const second = await this.send(path, req);
        res = p.chance(0.5) ? first : second;
      } else {
        res = await this.send(path, req);
      }
      if (p.chance(r.dropResponse)) {
        this.count('dropResponse', device, path);
        throw new TypeError('fetch failed (connection reset after the server answered)');
      }
      if (path === '/sync/pull' && res.status === 200) {
        const text = await res.text();
        if (text.includes('"ClientStateNotFound"') && pagingCookie(req))
          this.hooks.pagedResetRestarted?.(device);
        this.recordPull(device, text);
        return new Response(text, { status: 200, headers: res.headers });
      }
      return res;
    };
  }

  /** Delivers one held request now (its answer goes nowhere, but is observed). */
  async deliverHeld(index: number): Promise<string> {
    const [h] = this.held.splice(index, 1);
    if (!h) return 'none';
    try {
      const res = await this.send(h.path, h.init);
      return `${h.device} ${h.path} → ${res.status}`;
    } catch (e) {
      return `${h.device} ${h.path} → ${(e as Error).message}`;
    }
  }
}

/** Whether a pull asks for the next page of a reset (an object cookie). */
function pagingCookie(req: RequestInit): boolean {
  if (typeof req.body !== 'string') return false;
  const cookie = (JSON.parse(req.body) as { cookie?: unknown }).cookie;
  return typeof cookie === 'object' && cookie !== null;
}

/** Whether `seq` is in one of the holes. */
export const inHole = (holes: readonly (readonly [number, number])[], seq: number): boolean =>
  holes.some(([from, to]) => seq >= from && seq <= to);
