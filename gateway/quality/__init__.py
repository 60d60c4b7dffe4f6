"""Print-quality readability checks: decode, data match, and ISO/IEC 15415
(2D) / 15416 (linear) style grading from an image of a printed label."""
