/** Record specifications: the catalogue, the spec and its checks, the formatter, the presets (docs/RECORD-FORMATS.md). */
export * from './catalogue';
export * from './spec';
export * from './format';
export * from './presets';
export { fitCharset, encodeText, UTF8_BOM } from './charset';
export { formatInstant } from './instants';
export { periodAt, periodFrom, periodLabel, type FilePeriod } from './periods';
