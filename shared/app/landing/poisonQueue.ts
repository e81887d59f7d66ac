import { isNotFound } from '../../errors';
import type { AppContext } from '../ports';

/** How many landing messages wait in the poison queue (none while it was never created). */
export async function poisonCount(ctx: Pick<AppContext, 'landing'>): Promise<number> {
  try {
    return (await ctx.landing.poison.getProperties()).approximateMessagesCount ?? 0;
  } catch (e) {
    if (isNotFound(e)) return 0;
    throw e;
  }
}
