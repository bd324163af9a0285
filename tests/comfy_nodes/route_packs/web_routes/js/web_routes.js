// A ComfyUI frontend extension, as packs ship them in their WEB_DIRECTORY.
import { app } from "../../scripts/app.js";

app.registerExtension({ name: "web_routes.notes" });
