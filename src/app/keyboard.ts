// Keyboard shortcuts must not fire while the user types in a field.
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  return (target as Element).closest('input, select, textarea, [contenteditable="true"]') !== null;
}
