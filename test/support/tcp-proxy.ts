import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a service, for network faults a test controls: the client-to-server
 * direction can be held (a process behind it keeps receiving deliveries while nothing it sends,
 * acks or publishes, reaches the server), its connections cut, and new ones refused for a while.
 */
export interface HoldingProxy {
  readonly port: number;
  /** Drops what clients send from now on (or, with false, forwards it again). */
  hold(holding?: boolean): void;
  /** Cuts every open connection, as a network failure or a server crash would. */
  sever(): void;
  /** While true, connections are accepted and closed at once (the server looks down). */
  refuse(refusing: boolean): void;
  close(): Promise<void>;
}

/** `onConnection` hears every connection a client opens, refused ones included. */
export async function startHoldingProxy(
  target: { host: string; port: number },
  onConnection: (refused: boolean) => void = () => {},
): Promise<HoldingProxy> {
  let held = false;
  let refusing = false;
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    onConnection(refusing);
    if (refusing) {
      client.destroy();
      return;
    }
    clients.add(client);
    const upstream = connect(target.port, target.host);
    // Held bytes are read and dropped, not left unread: the proxy must still see the client die.
    client.on('data', (chunk) => {
      if (!held) upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      clients.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hold(holding = true) {
      held = holding;
    },
    sever() {
      for (const client of clients) client.destroy();
    },
    refuse(value) {
      refusing = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.destroy();
        server.close(() => resolve());
      }),
  };
}
