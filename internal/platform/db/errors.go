package db

type constraintKind int

const (
	constraintNone constraintKind = iota
	constraintUnique
	constraintForeignKey
	constraintCheck
)

func constraintOf(err error) constraintKind {
	if err == nil {
		return constraintNone
	}
	if k := sqliteConstraintCode(err); k != constraintNone {
		return k
	}
	return postgresConstraintCode(err)
}

// IsUniqueViolation reports whether err is a unique or primary key
// violation, on either dialect. It looks at error codes, never at messages.
func IsUniqueViolation(err error) bool { return constraintOf(err) == constraintUnique }

// IsForeignKeyViolation reports whether err is a foreign key violation.
func IsForeignKeyViolation(err error) bool { return constraintOf(err) == constraintForeignKey }

// IsCheckViolation reports whether err is a CHECK constraint violation.
func IsCheckViolation(err error) bool { return constraintOf(err) == constraintCheck }
