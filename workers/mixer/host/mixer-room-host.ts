/** The mixer rooms of one thread, as the thread host sees them (implemented in part 2). */
export interface RoomHostRegistry {
  readonly size: number;
  closeAll(): Promise<void>;
}
