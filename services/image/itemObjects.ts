/**
 * Downloads of an item's objects for the worker activities, with the failures no retry can fix made explicit:
 * an original over the upload limit (it can be replaced after confirm-upload checked it) and an object that is gone.
 */
import { ItemFailure } from '../../domain/jobData';
import { ObjectNotFoundError, ObjectTooLargeError, type Storage } from '../storage';
import { DEFAULT_IMAGE_LIMITS, ItemImageError } from './inputImage';

/** Downloads an item's original: refused before the download when too large, INPUT_MISSING when gone. */
export function downloadOriginal(storage: Pick<Storage, 'get'>, key: string): Promise<Buffer> {
  return storage.get(key, { maxBytes: DEFAULT_IMAGE_LIMITS.maxInputBytes }).catch((err: unknown) => {
    if (err instanceof ObjectTooLargeError) throw new ItemImageError(ItemFailure.IMAGE_TOO_LARGE, err.message);
    throw missing(err, 'the original');
  });
}

/** Downloads an object the item's earlier step wrote (a mask); INPUT_MISSING when it is gone. */
export function downloadItemObject(storage: Pick<Storage, 'get'>, key: string): Promise<Buffer> {
  return storage.get(key).catch((err: unknown) => {
    throw missing(err, 'an object of the item');
  });
}

function missing(err: unknown, what: string): unknown {
  // A deleted upload or mask does not come back by retrying: fail the item, not the job, and at once.
  if (err instanceof ObjectNotFoundError) return new ItemImageError(ItemFailure.INPUT_MISSING, `${what} is gone from storage: ${err.key}`);
  return err;
}
