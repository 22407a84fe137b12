// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title CashToken: a plain ERC-20 demo stablecoin, the second asset in channels.
/// @author Clearline
/// @notice Unrestricted; only the owner mints.
contract CashToken is ERC20, Ownable {
    uint8 private immutable _DECIMALS;

    /// @notice Deploys the token.
    /// @param name_ ERC-20 name.
    /// @param symbol_ ERC-20 symbol.
    /// @param decimals_ ERC-20 decimals (6 for a USD-like stablecoin).
    /// @param initialOwner The minter.
    constructor(string memory name_, string memory symbol_, uint8 decimals_, address initialOwner)
        ERC20(name_, symbol_)
        Ownable(initialOwner)
    {
        _DECIMALS = decimals_;
    }

    /// @notice Mints `amount` to `to`.
    /// @dev Only the owner.
    /// @param to The receiver.
    /// @param amount The amount in base units.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice The number of decimals set at deployment.
    /// @return The decimals.
    function decimals() public view override returns (uint8) {
        return _DECIMALS;
    }
}
