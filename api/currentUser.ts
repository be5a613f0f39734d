/** The user behind a request's token. */
import type { DataSource } from 'typeorm';
import { User } from '../entities/User';
import { ApiError } from './errors';

/** Loads the authenticated user; a token for a user that no longer exists is treated as invalid. */
export async function currentUser(ds: DataSource, userId: string | undefined): Promise<User> {
  const user = userId ? await ds.getRepository(User).findOneBy({ id: userId }) : null;
  if (!user) throw new ApiError('UNAUTHORIZED', 'unknown user');
  return user;
}
