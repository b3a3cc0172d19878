// Type-checked by `npm run typecheck` (tsc --noEmit), never run: the declarations of index.d.ts describe
// the module as a TypeScript plugin uses it, and wrong uses fail to compile.
import { Client, Event, Message, Mirror, MirrorEventType, PiecesError, Status, Transferables } from '..';

export async function panel(url?: string): Promise<number> {
  using client = new Client(url === undefined ? {} : { base_url: url, discovery: { use_environment: false } });
  const messages: Message[] = await client.snapshot(Transferables.EXCLUDE);
  const first: string | null = messages[0]?.text ?? null;
  const mirror: Mirror = client.mirror({ announce_initial: false, transferables: null });
  for await (const event of mirror) {
    const type: MirrorEventType = event.type;
    if (type === 'added' && event.message) console.log(event.message.role, event.message.text, first);
    if (event.terminal) break;
  }
  const ready: Event<MirrorEventType>[] = mirror.poll(10);
  const one: Event | null = await mirror.next(100);
  mirror.close();
  try {
    client.getSync('missing');
  } catch (error) {
    if (error instanceof PiecesError && error.status === Status.NOT_FOUND) return error.detail.status ?? 0;
  }
  // @ts-expect-error: transferables are the three constants, not a boolean
  await client.snapshot(true);
  return ready.length + (one ? 1 : 0) + mirror.messages(null).length;
}
