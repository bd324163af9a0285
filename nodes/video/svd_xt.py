"""Configs of the real SVD-XT (stabilityai/stable-video-diffusion-img2vid-xt): UNet, temporal VAE
and image encoder, as keyword arguments of the diffusers / transformers classes.

Used to build the real architecture with random weights (benchmarks at full size) and to check
that the single-file converter maps every tensor of a checkpoint of that size.
"""
UNET = dict(sample_size=96, in_channels=8, out_channels=4, layers_per_block=2,
            block_out_channels=[320, 640, 1280, 1280],
            down_block_types=["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
            up_block_types=["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
            num_attention_heads=[5, 10, 20, 20], cross_attention_dim=1024, transformer_layers_per_block=1,
            addition_time_embed_dim=256, projection_class_embeddings_input_dim=768, num_frames=25)
VAE = dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
           block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=768,
           scaling_factor=0.18215, force_upcast=True)
IMAGE_ENCODER = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=16, num_hidden_layers=32,
                     patch_size=14, image_size=224, projection_dim=1024, hidden_act="gelu", num_channels=3)
