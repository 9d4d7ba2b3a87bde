"""The screens of the staff terminal, one module each; ``base.StaffScreen`` is their frame."""
