/**
 * Decoding a main stream from a RAM record found mid-way (MainResync): the records before it,
 * and with them the section table and the RAM block names, were never seen. The resumed RAM
 * section's id is learnt from the first footer or SECTION_PART/END after it; until a record names
 * its block, CONTINUE pages belong to a block nobody named.
 */
import { ErrorCode } from '../core/errors.js';
import type { MainDecoderCore } from './state.js';

/** `sectionId` of the RAM records decoded before the resumed section's id was learnt. */
export const RESUMED_SECTION_UNKNOWN = -1;
/** `block` of the CONTINUE pages decoded before any record of the resumed stream named its block. */
export const RESUMED_BLOCK_UNKNOWN = '';

/** The main decoder's `resumeInRam` option. */
export interface ResumeInRam {
  /** The resumed RAM section's id when known from elsewhere; default: learnt from the stream. */
  sectionId?: number;
}

/** footerFor while an EOS of the resumed section awaits a footer that will tell its id. */
export const FOOTER_OF_RESUMED_SECTION = -2;

/** The resumed RAM section's id is now known: later records carry it, its PART/END are recognised. */
export function learnResumedSection(s: MainDecoderCore, sectionId: number): void {
  s.sections.set(sectionId, 'ram');
  s.resumedSection = sectionId;
  if (s.sectionId === RESUMED_SECTION_UNKNOWN) s.sectionId = sectionId;
}

/** A PART/END for a section no START opened: in a resumed stream the resumed RAM section, or one whose start was not captured. */
export function resumedSectionName(s: MainDecoderCore, sectionId: number, offset: number): string {
  if (s.resumedSection === RESUMED_SECTION_UNKNOWN) {
    learnResumedSection(s, sectionId);
    return 'ram';
  }
  return s.fail(
    ErrorCode.SectionStartNotCaptured,
    `section ${sectionId}'s START was not captured (the stream was resumed mid-way in RAM section ${s.resumedSection}): its records cannot be told apart`,
    offset + 1,
    `RAM section ${s.resumedSection} or a section started after the resume point`,
    String(sectionId),
  );
}
