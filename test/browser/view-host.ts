// A minimal MCP Apps host for tests, on the extension's own host side (app-bridge): it loads a view in a
// sandboxed iframe, hands it the tool input and result, and forwards the view's tool calls to
// `window.cloudportCall` (exposed by the test, which calls the live server through the SDK client).
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

declare global {
  interface Window {
    cloudportCall(name: string, args: Record<string, unknown>): Promise<any>;
    mountView(html: string, toolInput: Record<string, unknown>, toolResult: any): Promise<void>;
  }
}

window.mountView = async (html, toolInput, toolResult) => {
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.style.cssText = 'width: 640px; height: 560px; border: 1px solid #ccc';
  document.body.append(iframe);
  const bridge = new AppBridge(null, { name: 'cloudport-test-host', version: '1.0.0' }, { serverTools: {} });
  bridge.oncalltool = (params) => window.cloudportCall(params.name, (params.arguments ?? {}) as Record<string, unknown>);
  bridge.oninitialized = () => {
    void bridge.sendToolInput({ arguments: toolInput });
    void bridge.sendToolResult(toolResult);
  };
  // The bridge listens before the page loads: the view starts its handshake as soon as it runs.
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
  iframe.srcdoc = html;
};
