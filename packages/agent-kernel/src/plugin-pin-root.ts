/** The pin directory the agent gives plugin `id`: `<pinRoot>/<id>` (the agent's pinRoot may end in '/'). */
export function pluginPinRoot(pinRoot: string, id: string): string {
  return `${pinRoot.replace(/\/+$/, '')}/${id}`;
}
