/**
 * Which participant's speech the avatar plays, as LiveKit's avatar protocol has it: the identity
 * StartRoomSession names, else the token's `lk.publish_on_behalf`, else the first participant of
 * kind agent to be in the room.
 */
export interface ParticipantView {
  identity: string;
  /** True for LiveKit's participant kind AGENT. */
  isAgent: boolean;
}

export type AgentRule = { identity: string } | { firstAgent: true };

export function agentRule(requested: string, publishOnBehalf: string | undefined): AgentRule {
  if (requested !== "") return { identity: requested };
  if (publishOnBehalf !== undefined) return { identity: publishOnBehalf };
  return { firstAgent: true };
}

/** The agent among `participants` (in the order they joined), or undefined while it is not there. */
export function findAgent(rule: AgentRule, participants: Iterable<ParticipantView>, self: string): string | undefined {
  for (const p of participants) {
    if (p.identity === self) continue;
    if ("identity" in rule ? p.identity === rule.identity : p.isAgent) return p.identity;
  }
  return undefined;
}
