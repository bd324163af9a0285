"""Stand-ins for the ComfyUI modules custom-node packs import (``folder_paths``, ``comfy.utils``,
``comfy.model_management``, ``server``, ``nodes``, ``node_helpers``).

Only ``nodegraph.comfyui.surface`` imports these, to put them into ``sys.modules`` under
ComfyUI's names while a pack loads or runs; nothing else in nodegraph uses them. Whatever a pack
asks of them that is not here fails with a message naming what ComfyUI has and nodegraph does
not provide.
"""
