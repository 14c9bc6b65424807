import type { ToolDef } from './define.js';
import type { Toolset } from './toolsets.js';
import { createConnector } from './create_connector.js';
import { listConnectors } from './list_connectors.js';
import { getConnector } from './get_connector.js';
import { updateConnector } from './update_connector.js';
import { deleteConnector } from './delete_connector.js';
import { testConnector } from './test_connector.js';
import { browseConnector } from './browse_connector.js';
import { startImport } from './start_import.js';
import { startExport } from './start_export.js';
import { importStatus } from './import_status.js';
import { cancelImport } from './cancel_import.js';
import { listIndexItems } from './list_index_items.js';
import { readItem } from './read_item.js';
import { searchIndex } from './search_index.js';
import { reindexIndex } from './reindex_index.js';
import { listImports } from './list_imports.js';
import { importLogs } from './import_logs.js';
import { listIndexes } from './list_indexes.js';
import { deleteIndex } from './delete_index.js';
import { deleteItem } from './delete_item.js';
import { createAutomation } from './create_automation.js';
import { listAutomations } from './list_automations.js';
import { updateAutomation } from './update_automation.js';
import { deleteAutomation } from './delete_automation.js';
import { runAutomationNow } from './run_automation_now.js';

/** Every tool, in the order tools/list shows them. */
export const TOOLS = [
  createConnector,
  listConnectors,
  getConnector,
  updateConnector,
  deleteConnector,
  testConnector,
  browseConnector,
  startImport,
  importStatus,
  listImports,
  importLogs,
  cancelImport,
  listIndexes,
  listIndexItems,
  readItem,
  searchIndex,
  reindexIndex,
  deleteItem,
  deleteIndex,
  startExport,
  createAutomation,
  listAutomations,
  updateAutomation,
  deleteAutomation,
  runAutomationNow,
] as unknown as ToolDef[];

/** The toolset each tool belongs to. */
export const TOOLSET_OF: Readonly<Record<string, Toolset>> = {
  create_connector: 'connectors',
  list_connectors: 'connectors',
  get_connector: 'connectors',
  update_connector: 'connectors',
  delete_connector: 'connectors',
  test_connector: 'connectors',
  browse_connector: 'connectors',
  start_import: 'imports',
  import_status: 'imports',
  list_imports: 'imports',
  import_logs: 'imports',
  cancel_import: 'imports',
  list_indexes: 'indexes',
  list_index_items: 'indexes',
  read_item: 'indexes',
  search_index: 'search',
  reindex_index: 'search',
  delete_item: 'indexes',
  delete_index: 'indexes',
  start_export: 'exports',
  create_automation: 'automations',
  list_automations: 'automations',
  update_automation: 'automations',
  delete_automation: 'automations',
  run_automation_now: 'automations',
};

/** Job tools belong to imports but serve export and reindex jobs too: exports or search alone must still follow, list and cancel their jobs. */
const ALSO_IN: Readonly<Record<string, readonly Toolset[]>> = {
  import_status: ['exports', 'search'],
  list_imports: ['exports', 'search'],
  import_logs: ['exports', 'search'],
  cancel_import: ['exports', 'search'],
};

/** The toolsets any of which makes `tool` available. */
export function toolsetsOf(tool: string): Toolset[] {
  const own = TOOLSET_OF[tool];
  return own ? [own, ...(ALSO_IN[tool] ?? [])] : [];
}

/** Whether `tool` is available with `enabled` toolsets (null: all of them). */
export function toolEnabled(tool: string, enabled: readonly Toolset[] | null | undefined): boolean {
  return !enabled || toolsetsOf(tool).some((t) => enabled.includes(t));
}
