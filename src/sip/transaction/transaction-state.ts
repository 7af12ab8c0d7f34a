/** RFC 3261 §17 transaction states, plus RFC 6026 §7.1/§7.2 'Accepted'. */
export enum TransactionState {
  Calling = 'calling',
  Trying = 'trying',
  Proceeding = 'proceeding',
  Accepted = 'accepted',
  Completed = 'completed',
  Confirmed = 'confirmed',
  Terminated = 'terminated',
}
