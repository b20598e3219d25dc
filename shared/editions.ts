/** The seed: "Available in Professional, Performance, Unlimited, and Developer Editions". The console shows the same list. */
export const SUPPORTED_EDITIONS = ['Professional', 'Performance', 'Unlimited', 'Developer'] as const;

const supported = new Set(SUPPORTED_EDITIONS.map((e) => e.toLowerCase()));
/** Whether an org's `org_edition` claim names a supported edition (in any case). */
export const isSupportedEdition = (edition: string | undefined): edition is string => edition !== undefined && supported.has(edition.toLowerCase());

/** "Professional, Performance, Unlimited and Developer". */
export const editionList = `${SUPPORTED_EDITIONS.slice(0, -1).join(', ')} and ${SUPPORTED_EDITIONS.at(-1)}`;
