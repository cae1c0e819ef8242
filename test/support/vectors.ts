// The published test vectors, read from the in-repo copies in test/fixtures/vectors (copied from
// ../shared/vectors/ on 2026-12-03, see test/fixtures/README.md). Each file's SHA-256 as copied is
// recorded here: the suites that use a file check the copy is still the published one.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const VECTOR_FILES = {
  'wecom.json': '46b0eef1ff7770eb0035ec84fe185ab6dce549d4fad50826c7886e3928aefd14',
  'sms-email.json': 'ab0a1e7099b3a3ff49dd96c26d3062f98cf72243c978623f6c853e8f3842cc0d',
} as const;

export type VectorFile = keyof typeof VECTOR_FILES;

const vectorPath = (file: VectorFile) => path.join(__dirname, '../fixtures/vectors', file);

/** The SHA-256 (hex) of the in-repo copy as it is now. */
export const vectorFileSha256 = (file: VectorFile): string => createHash('sha256').update(fs.readFileSync(vectorPath(file))).digest('hex');

/** The parsed vectors file. */
export const readVectors = (file: VectorFile): any => JSON.parse(fs.readFileSync(vectorPath(file), 'utf8'));
