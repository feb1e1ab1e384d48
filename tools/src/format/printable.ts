/** Text for a terminal; imports nothing, so the CLI's error path can use it without loading the codec. */

const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Control characters (from names in a stream: block names, idstrs) shown as \xHH, never sent raw. */
export function printable(text: string): string {
  return HAS_CONTROL.test(text) ? text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : text;
}
