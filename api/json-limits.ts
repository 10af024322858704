// Bounds on a request body's JSON structure, checked on the raw bytes before JSON.parse runs: a body
// nested thousands of levels deep, or holding a million keys, is refused at the door instead of reaching
// the parser, the schemas, PostgreSQL's json parser or a Temporal payload. One linear pass, no recursion.
import { ApiError } from './errors';

export interface JsonLimits {
  maxDepth: number;
  maxKeys: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;

/**
 * Throws a 400 (`json_too_deep`) when objects and arrays nest deeper than `maxDepth`, or a 413
 * (`json_too_many_keys`) when the body holds more than `maxKeys` object keys in all. Malformed JSON is
 * left for the parser to report.
 */
export function checkJsonShape(body: Buffer, { maxDepth, maxKeys }: JsonLimits): void {
  let depth = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) {
        throw new ApiError(400, 'json_too_deep', `request body nests objects and arrays deeper than ${maxDepth} levels`, [
          { path: '(body)', message: `nested deeper than ${maxDepth} levels` },
        ]);
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    else if (c === COLON && ++keys > maxKeys) {
      throw new ApiError(413, 'json_too_many_keys', `request body has more than ${maxKeys} object keys`, [
        { path: '(body)', message: `more than ${maxKeys} object keys` },
      ]);
    }
  }
}
