import { unitConfig } from '../../vitest.shared.js';
export default unitConfig;
