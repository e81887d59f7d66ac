/**
 * The lean storage pipeline closes a kept-alive socket once it has been idle IDLE_SOCKET_TIMEOUT_MS, before
 * a server's own idle timeout can close it under a request being written (ECONNRESET on Put Message, which
 * leaves a source uncertain). Against a real local HTTP server whose idle timeout is longer than ours: the
 * server must see the client end the connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseStorageResourceUrl } from '../../../shared/resources/storageUrl';
import { IDLE_SOCKET_TIMEOUT_MS, StorageRest } from '../../../shared/upload/storageRest';

let server: Server;
let endedByClient: { at: number; socket: Socket }[] = [];
let opened = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    // A queue named 'slow' answers after longer than the idle timeout: a busy socket is not idle.
    const wait = req.url?.includes('/slow/') ? IDLE_SOCKET_TIMEOUT_MS + 1_000 : 0;
    req.on('end', () => setTimeout(() => res.writeHead(201).end(), wait));
  });
  server.keepAliveTimeout = IDLE_SOCKET_TIMEOUT_MS * 3;
  server.on('connection', (socket: Socket) => {
    opened += 1;
    socket.on('end', () => endedByClient.push({ at: Date.now(), socket }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

it('ends an idle kept-alive connection itself, before the server would, and opens a new one after', async () => {
  endedByClient = [];
  const { port } = server.address() as AddressInfo;
  const queue = parseStorageResourceUrl(`http://127.0.0.1:${port}/devstoreaccount1/q?sig=x`);
  const rest = new StorageRest();
  await rest.putMessage(queue, 'one');
  await rest.putMessage(queue, 'two');
  expect(opened).toBe(1); // kept alive between requests that follow each other
  const idleSince = Date.now();
  const deadline = idleSince + IDLE_SOCKET_TIMEOUT_MS * 2;
  while (endedByClient.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(endedByClient).toHaveLength(1);
  const idleFor = (endedByClient[0]?.at ?? 0) - idleSince;
  expect(idleFor).toBeGreaterThanOrEqual(IDLE_SOCKET_TIMEOUT_MS - 100);
  expect(idleFor).toBeLessThan(server.keepAliveTimeout);
  await rest.putMessage(queue, 'three');
  expect(opened).toBe(2);
}, 20_000);

it('lets a request whose answer takes longer than the idle timeout finish', async () => {
  const { port } = server.address() as AddressInfo;
  const slow = parseStorageResourceUrl(`http://127.0.0.1:${port}/devstoreaccount1/slow?sig=x`);
  await expect(new StorageRest().putMessage(slow, 'slow')).resolves.toBeUndefined();
}, 20_000);
