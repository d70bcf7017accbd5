/**
 * Who receives a group message: (group, instance) subscriptions of members.
 * Pure data structure, no I/O. A send to (G, I) reaches subscribers of (G, I)
 * and of (G, '*'), each once.
 */
const NOBODY: readonly never[] = Object.freeze([]);
const INSTANCE_MATTERS = Symbol('instance matters');

export class SubscriptionTable<M> {
  private groups = new Map<string, Map<string, Set<M>>>();
  private byMember = new Map<M, Map<string, Set<string>>>();
  /** Recipient lists per group and instance, dropped when the group changes: sends vastly outnumber subscribes. */
  private cache = new Map<string, Map<string, readonly M[]>>();
  /** anyInstance's answers, dropped with the cache (groups nobody subscribed to are not kept). */
  private anyInstanceCache = new Map<string, readonly M[] | typeof INSTANCE_MATTERS>();
  /** Counts changes, so a decision taken on the table can tell whether it still holds. */
  version = 0;

  /** True when the subscription is new. */
  add(group: string, instance: string, member: M): boolean {
    let instances = this.groups.get(group);
    if (!instances) this.groups.set(group, (instances = new Map()));
    let members = instances.get(instance);
    if (!members) instances.set(instance, (members = new Set()));
    if (members.has(member)) return false;
    members.add(member);
    this.cache.delete(group);
    this.anyInstanceCache.delete(group);
    this.version++;
    let held = this.byMember.get(member);
    if (!held) this.byMember.set(member, (held = new Map()));
    let heldInstances = held.get(group);
    if (!heldInstances) held.set(group, (heldInstances = new Set()));
    heldInstances.add(instance);
    return true;
  }

  /** True when the member held that subscription. */
  remove(group: string, instance: string, member: M): boolean {
    const instances = this.groups.get(group);
    const members = instances?.get(instance);
    if (!instances || !members?.delete(member)) return false;
    this.cache.delete(group);
    this.anyInstanceCache.delete(group);
    this.version++;
    if (members.size === 0) instances.delete(instance);
    if (instances.size === 0) this.groups.delete(group);
    const held = this.byMember.get(member)!;
    const heldInstances = held.get(group)!;
    heldInstances.delete(instance);
    if (heldInstances.size === 0) held.delete(group);
    if (held.size === 0) this.byMember.delete(member);
    return true;
  }

  /** Removes every subscription of a member; returns the groups it was in. */
  removeAll(member: M): string[] {
    // A member leaving voids decisions that name it even when it held no
    // subscription: a standing route of direct sends to it.
    this.version++;
    const held = this.byMember.get(member);
    if (!held) return [];
    const groups = [...held.keys()];
    for (const group of groups) for (const instance of [...held.get(group)!]) this.remove(group, instance, member);
    return groups;
  }

  /** Recipients of a send to (group, instance), each once. The list is shared: do not change it. */
  recipients(group: string, instance: string): readonly M[] {
    let perInstance = this.cache.get(group);
    const hit = perInstance?.get(instance);
    if (hit) return hit;
    const instances = this.groups.get(group);
    if (!instances) return NOBODY as readonly M[];
    // An instance nobody subscribed to by name reaches the group's `*`
    // subscribers: it shares their list, so sends to ever new instances
    // cannot grow the cache.
    if (instance !== '*' && !instances.has(instance)) return this.recipients(group, '*');
    const out = new Set<M>(instances.get(instance));
    if (instance !== '*') for (const m of instances.get('*') ?? []) out.add(m);
    const list = [...out];
    if (!perInstance) this.cache.set(group, (perInstance = new Map()));
    perInstance.set(instance, list);
    return list;
  }

  /**
   * Recipients of a send to the group when its instance cannot matter —
   * nobody subscribed to the group by instance — so the sender's instance
   * need not even be read; undefined when it matters.
   */
  anyInstance(group: string): readonly M[] | undefined {
    const known = this.anyInstanceCache.get(group);
    if (known !== undefined) return known === INSTANCE_MATTERS ? undefined : known;
    const instances = this.groups.get(group);
    if (!instances) return NOBODY as readonly M[];
    const list = instances.size > 1 || !instances.has('*') ? INSTANCE_MATTERS : this.recipients(group, '*');
    this.anyInstanceCache.set(group, list);
    return list === INSTANCE_MATTERS ? undefined : list;
  }

  /** How many recipient lists are cached: bounded by the subscriptions, whatever is sent. */
  get cachedLists(): number {
    let n = 0;
    for (const perInstance of this.cache.values()) n += perInstance.size;
    return n;
  }

  /** Every member subscribed to the group under any instance. */
  members(group: string): M[] {
    const out = new Set<M>();
    for (const members of this.groups.get(group)?.values() ?? []) for (const m of members) out.add(m);
    return [...out];
  }
}
