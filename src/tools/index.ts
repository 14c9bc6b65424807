import type { ToolDef } from './define.js';
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
  deleteItem,
  deleteIndex,
  startExport,
  createAutomation,
  listAutomations,
  updateAutomation,
  deleteAutomation,
  runAutomationNow,
] as unknown as ToolDef[];
