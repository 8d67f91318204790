"""Operations staff: accounts, groups, permissions, sign-in and the operation log (mis.md)."""
