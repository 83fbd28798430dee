/**
 * What a run has listed and recorded, by item id: an item Google lists twice (on two pages, or a
 * Takeout entry met again) is saved once, and the ids this run recorded are told apart from those
 * an earlier run did. Kept small because it holds one entry per item of the year: each id maps to
 * its listing variant (plan.ts listingVariant), one number, an array only for an id listed with two;
 * a single variant `v` stands as `-v - 1` once the id is recorded, so that needs no set of its own
 * (a table of 100,000 ids is about 2.6 MB, and as much again while it grows). Pure bookkeeping.
 */
export class ListedItems {
  readonly #listed = new Map<string, number | number[]>();
  /** Ids recorded this run that `#listed` cannot mark: listed with two variants, or not listed. */
  readonly #recordedOthers = new Set<string>();

  /** Whether this listing (id and variant) came before in this run; from now on it has. */
  listedBefore(id: string, variant: number): boolean {
    const stored = this.#listed.get(id);
    if (stored === undefined) {
      this.#listed.set(id, variant);
      return false;
    }
    const held = typeof stored === 'number' && stored < 0 ? -stored - 1 : stored;
    if (held === variant || (Array.isArray(held) && held.includes(variant))) return true;
    // Two variants: the recorded mark moves to the set.
    if (typeof stored === 'number' && stored < 0) this.#recordedOthers.add(id);
    this.#listed.set(id, Array.isArray(held) ? [...held, variant] : [held, variant]);
    return false;
  }

  /** This run recorded the id (saved, a copy, a revision). */
  markRecorded(id: string): void {
    const held = this.#listed.get(id);
    if (typeof held === 'number') {
      if (held >= 0) this.#listed.set(id, -held - 1);
    } else this.#recordedOthers.add(id);
  }

  recordedThisRun(id: string): boolean {
    const held = this.#listed.get(id);
    return (typeof held === 'number' && held < 0) || this.#recordedOthers.has(id);
  }
}
