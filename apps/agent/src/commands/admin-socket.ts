/** The admin socket `status` and `health` ask by default (agent-kernel's default `agent.adminSocket`). */
export const defaultAdminSocket = '/run/bpfsteer/agent.sock';
