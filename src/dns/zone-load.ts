import { AnswerError } from '../../protocol/errors.js';
import { parseMasterFile, SIGNATURE_WARNING_S, type ReadFile, type ZoneRecord } from './master-file.js';
import { absolute, NameError } from './name.js';

/** Signatures expired or expiring a load names one by one; past these it counts them. */
const SIGNATURE_WARNINGS = 10;

/**
 * A master file's records for `origin`, parsed in full before anything is
 * stored: a bad file throws ZoneFileError and loads nothing. What named loads
 * past, this does too, telling `warn` as it goes: data outside the zone (left
 * out), signatures expired or about to (loaded), the first few by name, the
 * rest counted. `b10 zone load` and auth's `zone_load` both load through here.
 */
export function readZoneFile(file: string, origin: string, warn: (text: string) => void, read?: ReadFile, now = new Date()): ZoneRecord[] {
  let signatures = 0;
  const records = parseMasterFile(
    file,
    origin,
    read,
    (w) => {
      if (w.kind === 'signature' && ++signatures > SIGNATURE_WARNINGS) return;
      warn(`${w.file}:${w.line}: ${w.message}`);
    },
    now,
  );
  if (signatures > SIGNATURE_WARNINGS) {
    warn(`${file}: ${signatures - SIGNATURE_WARNINGS} more signatures expired or expire within ${SIGNATURE_WARNING_S / 86400} days: sign the zone again`);
  }
  return records;
}

/** A zone's origin as typed (`example.org`), absolute; a name that cannot be one is an error answer saying why. */
export function zoneName(text: string): string {
  try {
    return absolute(text, '.');
  } catch (err) {
    if (err instanceof NameError) throw new AnswerError(1, `bad zone name: ${err.message}`);
    throw err;
  }
}
