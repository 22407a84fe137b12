// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Attribute type ids of the Clearline identity registry (docs/compliance.md).
/// @author Clearline
/// @notice One id per attribute type; the value meaning is fixed by the spec, the registry does not
/// interpret values. KYC, AML, ACCREDITED and CUSTODIAN are flags: the transfer rules count one only
/// when it is valid *and* its value is {FLAG_SET} (any other value, e.g. 0 = rejected, does not
/// count); COUNTRY's value is the ISO 3166-1 numeric code.
library AttributeTypes {
    /// @notice The value of a flag attribute (KYC, AML, ACCREDITED, CUSTODIAN) that counts.
    uint256 internal constant FLAG_SET = 1;
    /// @notice 1 = verified.
    uint256 internal constant KYC = 1;
    /// @notice 1 = cleared.
    uint256 internal constant AML = 2;
    /// @notice 1 = accredited investor.
    uint256 internal constant ACCREDITED = 3;
    /// @notice ISO 3166-1 numeric country code (840 = US, 276 = DE).
    uint256 internal constant COUNTRY = 4;
    /// @notice 1 = a custodian holding tokens on behalf of investors (the adjudicator).
    uint256 internal constant CUSTODIAN = 5;
}

/// @title The read side of the identity registry, as the transfer rules and the adjudicator use it.
/// @author Clearline
/// @notice Attribute validity and values; the registry does not interpret values (see {AttributeTypes}).
interface IJurisdiction {
    /// @notice Whether `account` holds an attribute of `typeId` that is valid now: it exists, its
    /// validator's approval for the type is the one in force, and `block.timestamp < expiresAt`
    /// (whatever its value).
    /// @param account The holder.
    /// @param typeId The attribute type.
    /// @return True when valid now.
    function hasValidAttribute(address account, uint256 typeId) external view returns (bool);

    /// @notice Whether `account` holds a valid attribute of `typeId` whose value is {AttributeTypes-FLAG_SET}
    /// (1): what the transfer rules ask of KYC, AML, ACCREDITED and CUSTODIAN.
    /// @param account The holder.
    /// @param typeId The attribute type.
    /// @return True when valid now and of value 1.
    function hasValidFlag(address account, uint256 typeId) external view returns (bool);

    /// @notice The stored attribute of `account` for `typeId` and whether it is valid now.
    /// @param account The holder.
    /// @param typeId The attribute type.
    /// @return value The attribute value (0 when none is stored).
    /// @return expiresAt The first timestamp at which the attribute is no longer valid (0 when none).
    /// @return validator The validator that issued it (zero when none).
    /// @return valid Whether it is valid now (see {hasValidAttribute}).
    function attributeOf(address account, uint256 typeId)
        external
        view
        returns (uint256 value, uint64 expiresAt, address validator, bool valid);

    /// @notice Whether `validator` is currently approved to issue attributes of `typeId`.
    /// @param typeId The attribute type.
    /// @param validator The validator.
    /// @return True when approved now.
    function isValidator(uint256 typeId, address validator) external view returns (bool);
}
