/**
 * Sorting the short lists of the compiler (a node's rules, its source prefixes, port bounds) in
 * place without the work list that Array.prototype.sort allocates at every call: an insertion sort
 * up to SMALL items (stable, as the built-in sort is), the built-in sort beyond.
 */
const SMALL = 16;

export function sortSmall<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  if (list.length > SMALL) return list.sort(compare);
  for (let i = 1; i < list.length; i++) {
    const item = list[i];
    let j = i - 1;
    while (j >= 0 && compare(list[j], item) > 0) {
      list[j + 1] = list[j];
      j--;
    }
    list[j + 1] = item;
  }
  return list;
}

export function byNumber(a: number, b: number): number {
  return a - b;
}
