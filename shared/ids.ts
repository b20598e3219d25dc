import { randomBytes } from 'node:crypto';

/** `<prefix>_` then the time in milliseconds (base 36, fixed width), then randomness: ids that sort by creation time. */
const timeOrdered = (prefix: string, at: number) => `${prefix}_${at.toString(36).padStart(10, '0')}${randomBytes(6).toString('hex')}`;

export const newJobId = (at: number) => timeOrdered('job', at);
export const newEventId = (at: number) => timeOrdered('evt', at);
export const newExportId = (at: number) => timeOrdered('exp', at);
/** An audit export's id (the jobs' due partition holds exports too). */
export const isExportId = (id: string) => id.startsWith('exp_');
/** An app created without an appId gets a random one. */
export const newAppId = () => `app_${randomBytes(10).toString('hex')}`;
/** A policy pass's first step: random (each later step's name is derived from the one before it). */
export const newStepId = () => randomBytes(12).toString('base64url');
