// The pack's frontend extension (ComfyUI loads it from WEB_DIRECTORY).
console.log("image_tools extension");
