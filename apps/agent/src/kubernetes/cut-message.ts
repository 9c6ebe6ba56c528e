/** Kubernetes keeps condition messages and Event notes short (an Event's note is refused over 1024 characters). */
export const MAX_MESSAGE = 1024;

/** `message`, cut to MAX_MESSAGE characters (an ellipsis marks the cut). */
export function cutMessage(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`;
}
