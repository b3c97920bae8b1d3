/**
 * @module A TCP proxy in front of an LDAP server that cuts the connection part-way through what the
 * server sends: after N bytes, after N whole LDAP messages, or after N search result entries. For
 * tests that show a read failing in the middle (a slapd restart, a firewall's idle timeout, a
 * dropped VPN) leaves the sync with nothing written. Without a cut option it only passes bytes on.
 *
 * Messages and entries are counted by reading each LDAPMessage's BER framing (RFC 4511 §4.1.1: a
 * SEQUENCE of messageID and protocolOp; SearchResultEntry is [APPLICATION 4], tag 0x64), so they can
 * only be counted on a clear ldap:// connection; over ldaps:// or after StartTLS only `afterBytes`
 * means anything. The cut forwards exactly what came before it, then closes both sockets (the client
 * sees the connection end with a message unanswered).
 *
 * @example
 * const proxy = await startCuttingProxy({ target: slapd.url, afterEntries: 100, connectionsToCut: 1 });
 * // point the client at proxy.url: the first connection ends after 100 entries
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface CuttingProxyOptions {
  /** The server: an ldap:// URL, or a host and port (host default 127.0.0.1). */
  target: string | { host?: string; port: number };
  /** Cut after forwarding this many bytes from the server on a connection. */
  afterBytes?: number;
  /** Cut after forwarding this many whole LDAP messages (of any kind: bind responses count). */
  afterMessages?: number;
  /** Cut after forwarding this many SearchResultEntry messages. */
  afterEntries?: number;
  /** Cut only the first N connections (default: every one); later connections pass through whole. */
  connectionsToCut?: number;
}

export interface CuttingProxyStats {
  connections: number;
  /** Connections the proxy cut. */
  cuts: number;
  /** Forwarded from the server, over all connections. */
  bytes: number;
  messages: number;
  entries: number;
}

export interface CuttingProxy {
  /** `ldap://127.0.0.1:PORT` */
  url: string;
  port: number;
  stats(): CuttingProxyStats;
  /** Resolves at the first cut. */
  firstCut: Promise<void>;
  close(): Promise<void>;
}

const SEARCH_RESULT_ENTRY = 0x64;

export async function startCuttingProxy(options: CuttingProxyOptions): Promise<CuttingProxy> {
  const target = typeof options.target === "string" ? hostAndPort(options.target) : { host: options.target.host ?? "127.0.0.1", port: options.target.port };
  const stats: CuttingProxyStats = { connections: 0, cuts: 0, bytes: 0, messages: 0, entries: 0 };
  const sockets = new Set<Socket>();
  let markFirstCut!: () => void;
  const firstCut = new Promise<void>((resolve) => (markFirstCut = resolve));
  const server = createServer((client) => {
    stats.connections++;
    const cutsThis = stats.connections <= (options.connectionsToCut ?? Number.POSITIVE_INFINITY);
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      socket.on("error", () => {}); // either end's failure just ends the pair (below)
    }
    forward(client, upstream);
    const counter = new MessageCounter();
    let sent = 0;
    upstream.on("data", (chunk: Buffer) => {
      const end = cutsThis ? cutOffset(chunk, sent, counter, stats, options) : undefined;
      const slice = end === undefined ? chunk : chunk.subarray(0, end);
      sent += slice.length;
      stats.bytes += slice.length;
      if (!cutsThis) counter.feed(slice, (op) => countMessage(op, stats));
      if (slice.length > 0 && !client.write(slice)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
      if (end !== undefined) {
        stats.cuts++;
        markFirstCut();
        upstream.destroy(); // its "close" ends the client's side once what came before the cut is flushed
      }
    });
    upstream.once("close", () => client.end(() => client.destroy()));
    client.once("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    stats: () => ({ ...stats }),
    firstCut,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: Number(parsed.port || (parsed.protocol === "ldaps:" ? 636 : 389)) };
}

/** Client to server: everything, with backpressure. */
function forward(from: Socket, to: Socket): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
}

function countMessage(op: number, stats: CuttingProxyStats): void {
  stats.messages++;
  if (op === SEARCH_RESULT_ENTRY) stats.entries++;
}

/** Where in this chunk the connection is to be cut (bytes before it are forwarded), or undefined. */
function cutOffset(chunk: Buffer, sentBefore: number, counter: MessageCounter, stats: CuttingProxyStats, options: CuttingProxyOptions): number | undefined {
  let limit = options.afterBytes === undefined ? chunk.length : Math.max(0, Math.min(chunk.length, options.afterBytes - sentBefore));
  const counted = counter.feed(chunk.subarray(0, limit), (op) => {
    countMessage(op, stats);
    return (options.afterMessages !== undefined && counter.messages >= options.afterMessages) || (options.afterEntries !== undefined && counter.entries >= options.afterEntries);
  });
  if (counted !== undefined) limit = counted;
  const byBytes = options.afterBytes !== undefined && sentBefore + limit >= options.afterBytes;
  return counted !== undefined || byBytes ? limit : undefined;
}

/** Finds LDAPMessage boundaries in a byte stream from the server, reading only each message's head. */
class MessageCounter {
  messages = 0;
  entries = 0;
  private head: number[] = [];
  private message: { total: number; op: number } | undefined;
  private consumed = 0;

  /** Feeds bytes; `onMessage` runs at each message's last byte and may return true to stop there: the offset after that byte is returned. */
  feed(chunk: Buffer, onMessage: (op: number) => boolean | void): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.message === undefined) {
        this.head.push(chunk[i]!);
        i++;
        this.consumed++;
        this.message = parseHead(this.head);
      } else {
        const take = Math.min(this.message.total - this.consumed, chunk.length - i);
        i += take;
        this.consumed += take;
      }
      if (this.message !== undefined && this.consumed === this.message.total) {
        const { op } = this.message;
        this.messages++;
        if (op === SEARCH_RESULT_ENTRY) this.entries++;
        this.head = [];
        this.message = undefined;
        this.consumed = 0;
        if (onMessage(op) === true) return i;
      }
    }
    return undefined;
  }
}

/** The total length and protocolOp tag of a message from its first bytes, once enough have come. */
function parseHead(head: number[]): { total: number; op: number } | undefined {
  const length = berLength(head, 1);
  if (length === undefined) return undefined;
  const idAt = 1 + length.size;
  const idLength = berLength(head, idAt + 1);
  if (idLength === undefined) return undefined;
  const opAt = idAt + 1 + idLength.size + idLength.value;
  if (head.length <= opAt) return undefined;
  return { total: 1 + length.size + length.value, op: head[opAt]! };
}

/** A BER definite length at `at`: its value and how many bytes it took. */
function berLength(bytes: number[], at: number): { value: number; size: number } | undefined {
  const first = bytes[at];
  if (first === undefined) return undefined;
  if (first < 0x80) return { value: first, size: 1 };
  const count = first & 0x7f;
  if (bytes.length < at + 1 + count) return undefined;
  let value = 0;
  for (let k = 1; k <= count; k++) value = value * 256 + bytes[at + k]!;
  return { value, size: 1 + count };
}
