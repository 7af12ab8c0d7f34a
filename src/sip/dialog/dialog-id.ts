/** RFC 3261 §12: a dialog is identified by Call-ID, local tag and remote tag. */
export interface DialogId {
  callId: string;
  localTag: string;
  remoteTag: string;
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\u0001${localTag}\u0001${remoteTag}`;
}
