/** The export bucket's layout, shared by the code that writes it and the stack that grants it (no SDK, no config). */

/** Every export file's key starts with this (the functions' grants name it). */
export const EXPORT_FILES_PREFIX = 'audit-exports/';
